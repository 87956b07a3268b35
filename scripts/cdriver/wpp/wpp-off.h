/*
 * The kit's WPP stand-in: software tracing compiled out. A driver's
 * `#include "name.tmh"` gets this file (the kit writes one per source), so
 * WPP's preprocessor (tracewpp.exe, Windows only) is not needed. Trace calls
 * become no-ops; their arguments are not evaluated.
 */
#ifndef WDFKEY_CDRIVER_WPP_OFF_H
#define WDFKEY_CDRIVER_WPP_OFF_H
#define WPP_INIT_TRACING(...) ((void)0)
#define WPP_CLEANUP(...) ((void)0)
#define WPP_CONTROL_GUIDS
#define WPP_DEFINE_CONTROL_GUID(...)
#define WPP_DEFINE_BIT(...)
#define WPP_LEVEL_LOGGER(...) 0
#define WPP_LEVEL_ENABLED(...) 0
#define WPP_FLAG_LEVEL_LOGGER(...) 0
#define WPP_FLAG_LEVEL_ENABLED(...) 0
#define TraceEvents(...) ((void)0)
#define DoTraceMessage(...) ((void)0)
#define DoTraceLevelMessage(...) ((void)0)
#define TraceEvent(...) ((void)0)
#define TraceError(...) ((void)0)
#define TraceInfo(...) ((void)0)
#define TraceVerbose(...) ((void)0)
#define TraceWarning(...) ((void)0)
#define TraceLoggingRegister(...) ((void)0)
#define TraceLoggingUnregister(...) ((void)0)
#endif
