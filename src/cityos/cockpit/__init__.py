"""领导驾驶舱 + 经济运行监测: one metric layer, big screens, one map, the monthly economic report."""
