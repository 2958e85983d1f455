"""What the numbers say: dashboards, the progress matrix, staff boards and score exports."""
