"""Grid patrol (网格化管理): a grid worker's attendance in their own grids, patrols that record the
track while the page is open and the grids it covered, and the supervisor's view by region."""
