"""The ROS-facing `disdepth` commands, one package each (a `command` module with `add_parser`, joined to
`disdepth` through the `disdepth.commands` entry-point group, plus the modules doing the work):
`sample_bag` (`make-sample-bag`), `eval_bag` (`eval-bag`), `demo` (`demo`)."""
