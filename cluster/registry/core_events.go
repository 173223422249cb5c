package registry

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Events are one kind served in two shapes: core/v1 Event and
// events.k8s.io/v1 Event. Kubernetes stores both in one place, so an event
// written through either API is listed by both; EventToCore and
// EventFromCore convert between the shapes for a server that does the same.
// Validation and table rows work on the core shape, so field paths are the
// core/v1 names in both APIs, as in Kubernetes.

const (
	eventLengthLimit = 128  // reason, action, reportingInstance
	eventNoteLimit   = 1024 // message / note
)

func eventColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		column("Last Seen", "string", corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
		column("Type", "string", corev1.Event{}.SwaggerDoc()["type"]),
		column("Reason", "string", corev1.Event{}.SwaggerDoc()["reason"]),
		column("Object", "string", corev1.Event{}.SwaggerDoc()["involvedObject"]),
		wideColumn("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		wideColumn("Source", "string", corev1.Event{}.SwaggerDoc()["source"]),
		column("Message", "string", corev1.Event{}.SwaggerDoc()["message"]),
		wideColumn("First Seen", "string", corev1.Event{}.SwaggerDoc()["firstTimestamp"]),
		wideColumn("Count", "string", corev1.Event{}.SwaggerDoc()["count"]),
		{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	}
}

func coreEvents() *Resource {
	return &Resource{
		GroupVersion:   corev1.SchemeGroupVersion,
		Name:           "events",
		Singular:       "event",
		Kind:           "Event",
		ListKind:       "EventList",
		Namespaced:     true,
		CreateOnUpdate: true,
		ShortNames:     []string{"ev"},
		New:            func() runtime.Object { return &corev1.Event{} },
		NewList:        func() runtime.Object { return &corev1.EventList{} },
		Validate:       func(obj runtime.Object) field.ErrorList { return validateCoreEvent(obj.(*corev1.Event), false) },
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList {
			ev, old := n.(*corev1.Event), o.(*corev1.Event)
			return append(validateMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta), legacyValidateEvent(ev, false)...)
		},
		Fields:  func(obj runtime.Object) fields.Set { return coreEventFields(obj.(*corev1.Event)) },
		Columns: eventColumns(),
		Row:     func(obj runtime.Object) []any { return eventRow(obj.(*corev1.Event)) },
	}
}

func eventsV1Events() *Resource {
	return &Resource{
		GroupVersion:   eventsv1.SchemeGroupVersion,
		Name:           "events",
		Singular:       "event",
		Kind:           "Event",
		ListKind:       "EventList",
		Namespaced:     true,
		CreateOnUpdate: true,
		ShortNames:     []string{"ev"},
		New:            func() runtime.Object { return &eventsv1.Event{} },
		NewList:        func() runtime.Object { return &eventsv1.EventList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateCoreEvent(EventToCore(obj.(*eventsv1.Event)), true)
		},
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList {
			return validateEventV1Update(EventToCore(n.(*eventsv1.Event)), EventToCore(o.(*eventsv1.Event)))
		},
		Fields: func(obj runtime.Object) fields.Set {
			ev := obj.(*eventsv1.Event)
			return fields.Set{
				"regarding.kind":            ev.Regarding.Kind,
				"regarding.namespace":       ev.Regarding.Namespace,
				"regarding.name":            ev.Regarding.Name,
				"regarding.uid":             string(ev.Regarding.UID),
				"regarding.apiVersion":      ev.Regarding.APIVersion,
				"regarding.resourceVersion": ev.Regarding.ResourceVersion,
				"regarding.fieldPath":       ev.Regarding.FieldPath,
				"reason":                    ev.Reason,
				"reportingController":       ev.ReportingController,
				"type":                      ev.Type,
			}
		},
		Columns: eventColumns(),
		Row:     func(obj runtime.Object) []any { return eventRow(EventToCore(obj.(*eventsv1.Event))) },
	}
}

// EventToCore returns the core/v1 shape of an events.k8s.io/v1 event.
func EventToCore(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          *in.ObjectMeta.DeepCopy(),
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

// EventFromCore returns the events.k8s.io/v1 shape of a core/v1 event.
func EventFromCore(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"},
		ObjectMeta:               *in.ObjectMeta.DeepCopy(),
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

// validateCoreEvent is Kubernetes' event create validation: lenient for
// core/v1 (legacy clients), strict for events.k8s.io/v1.
func validateCoreEvent(ev *corev1.Event, strict bool) field.ErrorList {
	var errs field.ErrorList
	if !strict && ev.Name == "" {
		errs = append(errs, field.Required(metadataPath.Child("name"), "name or generateName is required"))
	}
	errs = append(errs, legacyValidateEvent(ev, strict)...)
	if !strict {
		return errs
	}
	errs = append(errs, validateMeta(&ev.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)...)
	errs = append(errs, validateEventSeries(ev)...)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	if !ev.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !ev.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if ev.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if ev.Source.Component != "" || ev.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

func validateEventSeries(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if ev.Series != nil {
		if ev.Series.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
		}
		if ev.Series.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
		}
	}
	return errs
}

func legacyValidateEvent(ev *corev1.Event, strict bool) field.ErrorList {
	var errs field.ErrorList
	controllerField := "reportingComponent"
	if strict {
		controllerField = "reportingController"
	}
	nsPath := field.NewPath("involvedObject", "namespace")
	if ev.EventTime.IsZero() {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath(controllerField), ""))
		}
		errs = append(errs, validateQualifiedName(ev.ReportingController, field.NewPath(controllerField))...)
		if ev.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if len(ev.ReportingInstance) > eventLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", eventLengthLimit)))
		}
		if ev.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if len(ev.Action) > eventLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", eventLengthLimit)))
		}
		if ev.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		if len(ev.Reason) > eventLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", eventLengthLimit)))
		}
		if len(ev.Message) > eventNoteLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", eventNoteLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ev.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ev.Namespace, msg))
	}
	return errs
}

func validateEventV1Update(n, o *corev1.Event) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	if !apiequality.Semantic.DeepEqual(n.Series, o.Series) {
		errs = append(errs, validateEventSeries(n)...)
	}
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", n.InvolvedObject, o.InvolvedObject},
		{"reason", n.Reason, o.Reason},
		{"message", n.Message, o.Message},
		{"source", n.Source, o.Source},
		{"firstTimestamp", n.FirstTimestamp, o.FirstTimestamp},
		{"lastTimestamp", n.LastTimestamp, o.LastTimestamp},
		{"count", n.Count, o.Count},
		{"type", n.Type, o.Type},
		{"action", n.Action, o.Action},
		{"related", n.Related, o.Related},
		{"reportingController", n.ReportingController, o.ReportingController},
		{"reportingInstance", n.ReportingInstance, o.ReportingInstance},
	} {
		errs = append(errs, apivalidation.ValidateImmutableField(f.new, f.old, field.NewPath(f.name))...)
	}
	return errs
}

func coreEventFields(ev *corev1.Event) fields.Set {
	source := ev.Source.Component
	if source == "" {
		source = ev.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            ev.InvolvedObject.Kind,
		"involvedObject.namespace":       ev.InvolvedObject.Namespace,
		"involvedObject.name":            ev.InvolvedObject.Name,
		"involvedObject.uid":             string(ev.InvolvedObject.UID),
		"involvedObject.apiVersion":      ev.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": ev.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       ev.InvolvedObject.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         source,
		"type":                           ev.Type,
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// eventRow is the event's line in `kubectl get events`.
func eventRow(ev *corev1.Event) []any {
	first := since(ev.FirstTimestamp)
	if ev.FirstTimestamp.IsZero() {
		first = sinceMicro(ev.EventTime)
	}
	last := since(ev.LastTimestamp)
	if ev.LastTimestamp.IsZero() {
		last = first
	}
	count := ev.Count
	if ev.Series != nil {
		last = sinceMicro(ev.Series.LastObservedTime)
		count = ev.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		target += "/" + ev.InvolvedObject.Name
	}
	source := "<unknown>"
	if c := firstNonEmpty(ev.Source.Component, ev.ReportingController); c != "" {
		source = c
		if h := firstNonEmpty(ev.Source.Host, ev.ReportingInstance); h != "" {
			source += ", " + h
		}
	}
	return []any{last, ev.Type, ev.Reason, target, ev.InvolvedObject.FieldPath, source, strings.TrimSpace(ev.Message), first, int64(count), ev.Name}
}
