"""The app-store review service: accounts, submissions, scans on workers, verdicts."""
