namespace Engine.Tests.Qemu;

/// <summary>One run of tests/interop/run-interop.sh: the script's result and its per-check summary lines.</summary>
internal sealed record InteropRun(ScriptResult Script, IReadOnlyDictionary<int, InteropCheck> Checks);
