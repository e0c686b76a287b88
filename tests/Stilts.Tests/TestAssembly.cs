// libtorch's default generator (dropout, randn) and its thread pool are process-wide: test classes running in
// parallel would draw from each other's random streams and break the bit-for-bit determinism tests assert.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
