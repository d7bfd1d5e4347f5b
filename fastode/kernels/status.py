"""Integer status codes returned by every kernel (docs/design.md, "Kernels").

Non-negative codes are successes; negative codes are failures. ``fastode.results`` maps them to
scipy's ``status`` (0, 1, -1) and a message.
"""
SUCCESS = 0            # reached the end of the interval
TERMINATED = 1         # a terminal event occurred
STEP_TOO_SMALL = -1    # step size fell below min_step or the spacing of floating-point numbers
MAX_STEPS = -2         # max_steps attempted steps were taken
NON_FINITE = -3        # fun returned a non-finite value (or raised inside compiled code)
SINGULAR = -4          # implicit methods: the iteration matrix stayed singular as the step was cut
NEWTON_FAILED = -5     # Radau, BDF: Newton iterations diverged as the step was cut
EVENT_FAILED = -6      # an event function returned NaN (or raised inside compiled code)
