"""数据共享交换: catalog, validated versioned data, governed sharing, open data."""
