"""What outlives one answer: de-duplication, answers in flight, in memory, SQLite or Redis."""
