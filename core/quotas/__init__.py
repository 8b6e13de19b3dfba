"""Fair use per person: concurrency slots and request rates, in one process or across replicas."""
