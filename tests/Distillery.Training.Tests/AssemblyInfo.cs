// Training uses libtorch's process-wide random generator (dropout, manual_seed); tests that train must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
