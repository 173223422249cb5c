// Package acceptance holds the kubelet issue's acceptance test, run through
// the real kubectl command code against an in-process `seven up --nodes 2`
// (package local). It lives apart from package kubelet because package local
// imports the kubelet. There is no non-test code.
package acceptance
