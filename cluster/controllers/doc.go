// Package controllers holds what every controller of Seven shares — the work
// queue loop, expectations, ownership (adopt/release) and event recording — and
// states the conventions each controller package under it follows.
//
// # Layout
//
// Each controller is one package, cluster/controllers/<name>:
//
//	doc.go         package comment: what the controller owns, which kinds it watches
//	controller.go  Config, New, Start, informer handlers, the sync loop (I/O only)
//	decide.go      pure decision functions: state in, "what should change" out
//	decide_test.go table tests of decide.go (no API server, no goroutines)
//	*_api_test.go  API-level tests against apiservertest (real API server, no fakes)
//
// # Config, New, Start
//
//	type Config struct {
//		Client    kubernetes.Interface
//		Informers informers.SharedInformerFactory // shared; the manager starts it
//		Timings   timings.Timings
//		Logger    *slog.Logger        // nil: slog.Default()
//		Workers   int                 // 0: a default
//		Clock     clock.Clock         // nil: clock.RealClock{}
//		Recorder  events.EventRecorder // nil: Start records to the API itself
//	}
//	func New(cfg Config) (*Controller, error) // validates, fills defaults, registers informer handlers
//	func (c *Controller) Start(ctx context.Context) error
//
// New must only register handlers (Informers.Core().V1().Pods().Informer()…):
// the manager calls every New first and then starts the shared factory, so a
// controller never calls Informers.Start itself. Start waits for its informers
// to sync (WaitForCacheSync), runs Workers workers with RunWorkers, and returns
// nil once ctx is done. To use a controller alone (tests), call New, then
// Informers.Start(ctx.Done()), then Start.
//
// That wiring is written once, in Base (base.go): a controller's Config is
// controllers.Config, New calls NewBase and registers its handlers
// (WatchOwners for the kind it owns, WatchPods for pods it controls, Watch
// for caches it only reads), and Start is Run with its sync function. The
// ReplicaSet, ReplicationController and StatefulSet controllers and the root
// CA publisher (rootca) are built so; the others still carry their own copy,
// to be moved when next touched.
// Controllers that keep interchangeable pods share their I/O too
// (pods_io.go: ClaimPods, PodManager, SlowStart), and workloads with
// template history share it (history.go).
//
// # Reconcile contract
//
// Controllers are level based: handlers only enqueue a key (namespace/name of
// the object the controller owns, see Key); a worker reads the informer state
// for that key, calls a pure function of decide.go and applies its result
// through the API. The sync function given to RunWorkers returns:
//   - nil: done; the key's back-off is reset (Forget);
//   - an error: the key is requeued with rate-limited exponential back-off
//     (NewQueue) and the error is logged;
//   - RequeueAfter(d): done for now, look again after d (deadlines, minReadySeconds).
//
// Work that needs the cache to have seen the controller's own writes (pods it
// created or deleted) uses Expectations, so a controller never creates twice
// before its informer catches up. Ownership follows Kubernetes: a controller
// claims objects through ClaimObjects (adopt matching orphans, release objects
// whose labels stopped matching) and creates dependents with
// metav1.NewControllerRef (controller=true, blockOwnerDeletion=true).
//
// Events go through client-go's events.EventRecorder: reason in UpperCamelCase,
// note a short sentence (e.g. "SuccessfulCreate", "Created pod: web-x7k2p").
//
// # Manager
//
// cluster/controllers/manager runs the controllers: registry.go maps a name
// ("replicaset", "deployment", …) to a constructor taking a manager.Context
// (Client, Dynamic, shared Informers, Timings, Logger, Clock, Recorder). A new
// controller adds one line to the registry and a three-line constructor:
//
//	{"job", newJob},
//
//	func newJob(c Context) (component.Component, error) {
//		return job.New(job.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
//			Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(job.Name)})
//	}
//
// # Tests
//
// cluster/controllers/controllertest boots a real API server (Start), runs
// controllers with the shared factory (Env.Run), simulates kubelets
// (RunKubelet marks pods Running and Ready, and removes pods being deleted),
// waits on conditions (Eventually, WaitRolledOut) and checks a property at
// every state a pod watch shows (Track).
package controllers
