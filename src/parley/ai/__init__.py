"""ai-inference-service: speech to text, emotion, speech synthesis, batch jobs, analysis."""
