// How the units of a model hopper run reach the segments.
//
// This is the one seam between the hopper and the engine it runs on.  On
// PostgreSQL every segment is a background worker that lives for the whole
// run (segment_workers.cpp); a Greenplum/Cloudberry executor would run the
// same units on MPP segments, next to the shards, and nothing else changes.
// A unit is a JSON command that automl_run_unit() understands; a segment
// runs it in its own transaction and commits before it replies.  Units sent
// to a busy segment queue up and run in order, so a segment can start its
// next unit the moment it commits one.
//
// All methods are in the PostgreSQL regime: they may ereport.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace pg_automl::pg {

// A segment's answer: the unit's JSON result, or the error that rolled it
// back (palloc'd strings; detail and hint may be NULL).
struct UnitReply {
  bool ok;
  int sqlerrcode;
  char* text;  // result (ok) or error message
  char* detail;
  char* hint;
};

class SegmentExecutor {
 public:
  virtual int segments() const = 0;
  // Sends `unit` to a segment, behind the units it has not answered yet.
  virtual void submit(int segment, const char* unit) = 0;
  // Waits (interruptibly) until a segment answers its oldest unit; returns
  // that segment.
  virtual int wait_any(UnitReply* reply) = 0;
  // Ends the segments' work and waits until they are gone.
  virtual void shutdown() = 0;

 protected:
  ~SegmentExecutor() = default;
};

// What segment processes take from the session that starts them: its role
// and its pg_automl settings.
struct SessionSettings {
  Oid user;
  int threads;
  int buffer_cache_mb;
  int memory_mb;
  int max_activation_mb;  // pg_automl.max_activation_memory_mb (a superuser's, too)
  char device[64];
};

// The current session's, as start_segment_executor() would pass them on.
SessionSettings current_session_settings();
bool operator==(const SessionSettings& a, const SessionSettings& b);

// Starts `segments` segment processes for the caller's database and
// session settings.  `library` is the module that holds the segments' entry
// point, `schema` the extension's schema (where automl_run_unit() lives).
SegmentExecutor* start_segment_executor(int segments, const char* library, const char* schema);

}  // namespace pg_automl::pg
