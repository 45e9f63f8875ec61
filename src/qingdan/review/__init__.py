"""The app-store review service (issue 9): accounts, submissions, scans on workers, verdicts."""
