"""Triton Python-backend model wrapping Parley's lexicon emotion engine (VADER + cue words)."""

import numpy as np
import triton_python_backend_utils as pb_utils

LABELS = ("neutral", "happy", "sad", "angry", "fearful", "surprised", "disgusted")


class TritonPythonModel:
    def initialize(self, args):
        from parley.ai.engines.local_emotion import LexiconEmotion

        self.engine = LexiconEmotion()

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                value = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)[0]
                text = value.decode() if isinstance(value, bytes) else str(value)
                result = self.engine.from_text(text)
                tensors = [
                    pb_utils.Tensor(
                        "SCORES", np.array([result.scores[k] for k in LABELS], dtype=np.float32)
                    ),
                    pb_utils.Tensor("VALENCE", np.array([result.valence], dtype=np.float32)),
                    pb_utils.Tensor("AROUSAL", np.array([result.arousal], dtype=np.float32)),
                ]
                responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            except Exception as exc:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
        return responses
