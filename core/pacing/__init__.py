"""Rate budgets shared by every answer, and the planner that decides whom each serves next."""
