"""The Mapalyze tab: tab gathers inputs; loader, refresh and export_box run the jobs and show their outcome."""
