"""Build time: the rotator catalogue, the flow and its training, ONNX export, leave-one-cluster-out validation.

The only part of gyroage that imports torch or onnx; reached from the CLI
(`gyroage train`, `export`, `validate`) and never from the run-time core.
"""
