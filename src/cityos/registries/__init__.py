"""基础库 + 一数一源 + 数据交叉比对: base registries composed from authoritative sources,
discrepancies, record linkage, cross-checks."""
