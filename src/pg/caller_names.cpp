// automl_resolve_table(): a table name as the caller's search_path reads it.
//
// Every SQL function of the extension runs with search_path pinned to
// pg_catalog, pg_temp, so that no object in a schema of the caller's path
// (an operator, a function) can stand in for a built-in one.  Table names
// that users pass as text must still mean what they mean to the caller: the
// thin SQL wrappers of the user-facing functions, which run with the
// caller's path and name nothing unqualified themselves, resolve them with
// this function first and pass the qualified name on.
extern "C" {
#include "postgres.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"
}

#include "boundary.h"

// automl_resolve_table(name text, for_create boolean) -> text
// "schema"."table" of the relation `name` names under the current
// search_path; with for_create, of the relation CREATE TABLE `name` would
// create.  A name that does not parse, has more than two parts or names no
// relation comes back as it is, for the function it is passed to to report.
AUTOML_FUNCTION(automl_resolve_table);
Datum automl_resolve_table(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  text* arg = PG_GETARG_TEXT_PP(0);
  bool for_create = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
  // SplitIdentifierString reads identifiers as SQL does (unquoted ones
  // folded to lower case) and reports a syntax error instead of raising it.
  char* raw = text_to_cstring(arg);
  List* parts = NIL;
  if (!SplitIdentifierString(pstrdup(raw), '.', &parts) || list_length(parts) < 1 || list_length(parts) > 2)
    PG_RETURN_TEXT_P(arg);
  List* names = NIL;
  ListCell* lc;
  foreach (lc, parts)
    names = lappend(names, makeString(static_cast<char*>(lfirst(lc))));
  RangeVar* rv = makeRangeVarFromNameList(names);
  Oid nsp;
  if (for_create) {
    // Errors as CREATE TABLE would: no schema to create in, no such schema.
    nsp = RangeVarGetCreationNamespace(rv);
  } else {
    Oid rel = RangeVarGetRelid(rv, NoLock, true);
    if (!OidIsValid(rel)) PG_RETURN_TEXT_P(arg);
    nsp = get_rel_namespace(rel);
  }
  char* schema = get_namespace_name(nsp);
  if (!schema) PG_RETURN_TEXT_P(arg);
  PG_RETURN_TEXT_P(cstring_to_text(quote_qualified_identifier(schema, rv->relname)));
}
