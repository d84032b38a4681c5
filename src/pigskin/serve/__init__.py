"""Serving: an HTTP endpoint (SageMaker's bring-your-own-container contract) around a ``model.tar.gz``.

- :mod:`pigskin.serve.schema`: the wire format (Detections <-> JSON, request options, errors), shared
  by the server and :mod:`pigskin.client`; imports neither torch nor the web stack.
- :mod:`pigskin.serve.inputs`: request bodies -> RGB frames, rejecting what is not a safe image.
- :mod:`pigskin.serve.backends`: PyTorch or ONNX Runtime behind one ``predict``.
- :mod:`pigskin.serve.export`: ONNX export, checked against PyTorch on sample frames.
- :mod:`pigskin.serve.app`: the ASGI app (FastAPI) and :func:`pigskin.serve.app.run`.
"""
