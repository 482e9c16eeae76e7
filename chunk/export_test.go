package chunk

// SearchStep is searchStep, for the tests of package chunk_test that put
// boundaries at the ends of Next's search steps.
const SearchStep = searchStep
