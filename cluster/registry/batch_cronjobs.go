package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// batch/v1 CronJobs: served as API objects only. Seven runs no CronJob
// controller, so nothing creates their Jobs.

func cronJobs() *Resource {
	return &Resource{
		GroupVersion: batchv1.SchemeGroupVersion,
		Name:         "cronjobs",
		Singular:     "cronjob",
		Kind:         "CronJob",
		ListKind:     "CronJobList",
		Namespaced:   true,
		ShortNames:   []string{"cj"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &batchv1.CronJob{} },
		NewList:      func() runtime.Object { return &batchv1.CronJobList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultCronJob(obj.(*batchv1.CronJob)) },
		PrepareForCreate: func(obj runtime.Object) {
			cj := obj.(*batchv1.CronJob)
			dropDisabledPodSpecFields(&cj.Spec.JobTemplate.Spec.Template.Spec, nil)
			cj.Status = batchv1.CronJobStatus{}
			cj.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*batchv1.CronJob), oldObj.(*batchv1.CronJob)
			dropDisabledPodSpecFields(&n.Spec.JobTemplate.Spec.Template.Spec, &o.Spec.JobTemplate.Spec.Template.Spec)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			cj := obj.(*batchv1.CronJob)
			errs := validateMeta(&cj.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			errs = append(errs, validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))...)
			// Jobs are named <cronjob>-<11 characters of schedule time>.
			if len(cj.Name) > 52 {
				errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, "must be no more than 52 characters"))
			}
			return errs
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*batchv1.CronJob), oldObj.(*batchv1.CronJob)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateCronJobSpec(&n.Spec, &o.Spec, field.NewPath("spec"))...)
		},
		Columns: append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Schedule", "string", batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]),
			column("Timezone", "string", batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
			column("Suspend", "boolean", batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]),
			column("Active", "integer", batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
			column("Last Schedule", "string", batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
			ageColumn(),
		}, workloadWideColumns()...),
		Row: func(obj runtime.Object) []any {
			cj := obj.(*batchv1.CronJob)
			last := "<none>"
			if cj.Status.LastScheduleTime != nil {
				last = since(*cj.Status.LastScheduleTime)
			}
			tz := "<none>"
			if cj.Spec.TimeZone != nil {
				tz = *cj.Spec.TimeZone
			}
			row := []any{cj.Name, cj.Spec.Schedule, tz, boolCell(cj.Spec.Suspend), int64(len(cj.Status.Active)), last, since(cj.CreationTimestamp)}
			return append(row, workloadWide(&cj.Spec.JobTemplate.Spec.Template, cj.Spec.JobTemplate.Spec.Selector)...)
		},
	}
}

func defaultCronJob(cj *batchv1.CronJob) {
	s := &cj.Spec
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if s.Suspend == nil {
		s.Suspend = ptr.To(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptr.To[int32](1)
	}
	// Kubernetes defaults the template's pod spec and pod failure policy
	// patterns, not the rest of the job spec (the CronJob controller's Jobs
	// get those when they are created).
	defaultPodSpec(&s.JobTemplate.Spec.Template.Spec)
	if pfp := s.JobTemplate.Spec.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			for k := range pfp.Rules[i].OnPodConditions {
				if pfp.Rules[i].OnPodConditions[k].Status == "" {
					pfp.Rules[i].OnPodConditions[k].Status = "True"
				}
			}
		}
	}
}

func validateCronJobSpec(s, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("schedule")
	if s.Schedule == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		// A TZ in the schedule is tolerated only where it was already stored.
		tzAllowed := old != nil && strings.Contains(old.Schedule, "TZ")
		if err := parseCronSchedule(s.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp, s.Schedule, err.Error()))
		}
		switch {
		case tzAllowed && strings.Contains(s.Schedule, "TZ") && s.TimeZone != nil:
			errs = append(errs, field.Invalid(sp, s.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !tzAllowed && strings.Contains(s.Schedule, "TZ"):
			errs = append(errs, field.Invalid(sp, s.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if s.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !ptr.Equal(old.TimeZone, s.TimeZone) {
		errs = append(errs, validateTimeZone(s.TimeZone, p.Child("timeZone"))...)
	}
	allowed := []batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}
	errs = append(errs, validateEnum(s.ConcurrencyPolicy, allowed, p.Child("concurrencyPolicy"))...)
	errs = append(errs, validateJobTemplate(&s.JobTemplate, p.Child("jobTemplate"))...)
	if s.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.SuccessfulJobsHistoryLimit), p.Child("successfulJobsHistoryLimit"))...)
	}
	if s.FailedJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.FailedJobsHistoryLimit), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validateJobTemplate checks a CronJob's job template as a Job's spec, but
// for the selector, which the Jobs get generated and the template must not set.
func validateJobTemplate(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	spec := t.Spec.DeepCopy()
	spec.Selector = &metav1.LabelSelector{MatchLabels: spec.Template.Labels}
	errs := validateJobSpec(spec, p.Child("spec"))
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(p.Child("spec", "selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if t.Spec.ManualSelector != nil && *t.Spec.ManualSelector {
		errs = append(errs, field.NotSupported(p.Child("spec", "manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

var timeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, tz, err.Error()))
	}
	return errs
}

// cronField is one field of a standard cron schedule: its bounds and names.
type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var cronFields = []cronField{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{"day of week", 0, 6, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// parseCronSchedule accepts what the CronJob controller accepts: five
// fields (minute hour day-of-month month day-of-week) with lists, ranges,
// steps and names, or a descriptor (@hourly … @yearly, @every <duration>),
// optionally after TZ=<zone> or CRON_TZ=<zone>.
func parseCronSchedule(spec string) error {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		zone, rest, _ := strings.Cut(spec, " ")
		_, name, _ := strings.Cut(zone, "=")
		if _, err := time.LoadLocation(name); err != nil {
			return fmt.Errorf("provided bad location %s: %w", name, err)
		}
		spec = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(spec, "@") {
		switch spec {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return nil
		}
		if d, ok := strings.CutPrefix(spec, "@every "); ok {
			if _, err := time.ParseDuration(d); err != nil {
				return fmt.Errorf("failed to parse duration %s: %w", spec, err)
			}
			return nil
		}
		return fmt.Errorf("unrecognized descriptor: %s", spec)
	}
	parts := strings.Fields(spec)
	if len(parts) != len(cronFields) {
		return fmt.Errorf("expected exactly 5 fields, found %d: %s", len(parts), spec)
	}
	for i, part := range parts {
		for _, item := range strings.Split(part, ",") {
			if err := cronFields[i].parse(item); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f cronField) parse(item string) error {
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		if n, err := strconv.Atoi(step); err != nil || n <= 0 {
			return fmt.Errorf("failed to parse int from %s: step must be a positive number", step)
		}
	}
	if rng == "*" || rng == "?" {
		return nil
	}
	lo, hi, isRange := strings.Cut(rng, "-")
	a, err := f.value(lo)
	if err != nil {
		return err
	}
	b := a
	if isRange {
		if b, err = f.value(hi); err != nil {
			return err
		}
	}
	if a > b {
		return fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", a, b, item)
	}
	return nil
}

func (f cronField) value(s string) (int, error) {
	if n, ok := f.names[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %w", s, err)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%s value (%d) out of range [%d, %d]", f.name, n, f.min, f.max)
	}
	return n, nil
}
