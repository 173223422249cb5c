package target

// DockerTargetName is the name the docker target registers under.
//
// The docker target (the reference booted in containers, with real network
// partitions) lives in cluster/docker, which is built separately. It plugs in
// by registering a Factory from an init function:
//
//	target.Register(target.DockerTargetName, func(o target.FactoryOptions) (target.Target, error) { ... })
//
// and returns an Environment whose Faults stop node containers
// (StopNode/StartNode) and cut their network to the control plane
// (Partition/Heal), with capabilities Pods, MultiNode, Controllers,
// ServiceProxy, DNS, NodePort, StopNode and Partition (HA with several
// control-plane containers). `seven conformance --target docker` then finds it
// through Lookup; nothing in this package needs to change.
const DockerTargetName = "docker"
