"""Triton Python-backend model wrapping Parley's local speech recognizer (PocketSphinx + VAD).

Needs the ``parley`` package importable in the backend's Python (``pip install parley`` in the
Triton image, or PYTHONPATH). A GPU model with the same tensors can replace it.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        from parley.ai.engines.local_asr import PocketSphinxAsr

        self.engine = PocketSphinxAsr(pool_size=1)

    def execute(self, requests):
        from parley.ai.audio import Pcm

        responses = []
        for request in requests:
            try:
                audio = pb_utils.get_input_tensor_by_name(request, "AUDIO").as_numpy()
                transcript = self.engine.transcribe(Pcm(audio.reshape(-1).astype(np.int16)), "en")
                out = np.array([json.dumps(transcript.to_dict()).encode()], dtype=np.object_)
                responses.append(
                    pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("TRANSCRIPT", out)])
                )
            except Exception as exc:  # one bad request must not fail the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
        return responses
