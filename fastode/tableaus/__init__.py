"""Butcher tableaus of the Runge-Kutta methods used by fastode."""
