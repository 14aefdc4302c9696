"""Instructor-led classrooms: many learners on one cluster, each in a seat of their own."""
