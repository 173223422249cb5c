package kubelet

const envChildKubelet = "SEVEN_TEST_CHILD_KUBELET"

func runChildKubelet() int { return 0 }
