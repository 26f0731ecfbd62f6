"""Model export: ONNX (with metadata), ONNX Runtime int8, fp16 graph conversion and TensorRT engines."""
