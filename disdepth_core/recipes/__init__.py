"""Recipes: end-to-end jobs that compose the layers below (bags, teachers, training stages, export,
runtime, evaluation). ``distill_bag``: a student distilled from a foundation teacher on the robot's own
bags (``disdepth distill-bag``). Nothing below a recipe imports it."""
