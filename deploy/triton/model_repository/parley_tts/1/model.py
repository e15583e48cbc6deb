"""Triton Python-backend model wrapping Parley's local synthesizers (flite, espeak-ng)."""

import numpy as np
import triton_python_backend_utils as pb_utils


def _text(request, name):
    value = pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0]
    return value.decode() if isinstance(value, bytes) else str(value)


class TritonPythonModel:
    def initialize(self, args):
        from parley.ai.engines.local_tts import CommandLineTts

        self.engine = CommandLineTts()

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                rate = pb_utils.get_input_tensor_by_name(request, "RATE").as_numpy().reshape(-1)
                voice = _text(request, "VOICE") or None
                speech = self.engine.synthesize(_text(request, "TEXT"), voice, float(rate[0]))
                tensors = [
                    pb_utils.Tensor("AUDIO", speech.pcm.samples.astype(np.int16)),
                    pb_utils.Tensor("SAMPLE_RATE", np.array([speech.pcm.rate], dtype=np.int32)),
                    pb_utils.Tensor("VOICE", np.array([speech.voice.encode()], dtype=np.object_)),
                ]
                responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            except KeyError as exc:
                message = f"unknown voice {exc}"
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
            except Exception as exc:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
        return responses
