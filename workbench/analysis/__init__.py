"""Questions over every possible case: verification, red-flag floors, behavioural diff."""
