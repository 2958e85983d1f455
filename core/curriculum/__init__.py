"""The program's content: modules, projects, tasks and resources."""
