module kubedrill.test/testbed/lb

go 1.26
