"""Teachers: the built-in transformer teachers (``builtin``, registered with the model zoo), pretrained
foundation models behind one interface (``hf_teacher``: Hugging Face depth models; ``onnx_teacher``: any
ONNX depth model with a teacher card), disdepth checkpoints as teachers (``checkpoint_teacher``), their
output kinds and metric scale (``output``), teacher specs on the command line (``spec``: each kind of
``disdepth_core.teacher_kinds`` opened by its module's loader) and ``teacher pull`` (``hub``). The
torch-free pieces the runtime and the command line share live outside ``models``
(``disdepth_core.teacher_card``, ``disdepth_core.teacher_kinds``) so that importing them never imports
torch.
"""

from . import builtin  # noqa: F401  (register the transformer teachers)
