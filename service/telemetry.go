package service

import (
	"context"
	"fmt"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// setupTracing installs an OpenTelemetry tracer provider exporting over the exporter
// the standard OTEL_* variables name, when tracing is configured; otherwise tracing
// stays off and costs nothing. It returns the provider's shutdown and a store command
// monitor that makes a span of every command (nil when off).
func setupTracing(ctx context.Context, cfg Config) (func(context.Context) error, *event.CommandMonitor, error) {
	if !cfg.Tracing {
		return func(context.Context) error { return nil }, nil, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("goodwill")))
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, storeMonitor(tp.Tracer("github.com/goodwillhq/goodwill/service/storage")), nil
}

// storeMonitor makes a client span of each store command, named after the command
// (never its contents, which may hold personal data).
func storeMonitor(tracer trace.Tracer) *event.CommandMonitor {
	var spans sync.Map // request id → trace.Span
	end := func(id int64, err error) {
		if v, ok := spans.LoadAndDelete(id); ok {
			span := v.(trace.Span)
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}
	return &event.CommandMonitor{
		Started: func(ctx context.Context, e *event.CommandStartedEvent) {
			_, span := tracer.Start(ctx, "mongodb."+e.CommandName, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(
					attribute.String("db.system", "mongodb"),
					attribute.String("db.name", e.DatabaseName),
					attribute.String("db.operation", e.CommandName),
				))
			spans.Store(e.RequestID, span)
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { end(e.RequestID, nil) },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { end(e.RequestID, e.Failure) },
	}
}
