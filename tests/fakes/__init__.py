"""Fakes of the services budgetbot talks to, served over loopback HTTP."""
