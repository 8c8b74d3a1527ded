// Engine's build: a thin layer over the dotnet CLI and CMake. CI runs the same targets a person runs.
var target = Argument("target", "Build");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");
var demoArgs = Argument("demo-args", "");
var aotArgument = Argument("aot", true);

var root = MakeAbsolute(Directory("."));
var artifacts = root.Combine("artifacts");
var nativeBuild = root.Combine("native/build");

Task("Build")
    .Does(() =>
{
    DotNetBuild("Engine.sln", new DotNetBuildSettings { Configuration = configuration });
});

Task("Native")
    .Description("Builds native/ (the C reference loops) with CMake.")
    .Does(() =>
{
    EnsureDirectoryExists(nativeBuild);
    var rc = StartProcess("cmake", new ProcessSettings {
        Arguments = $"-S \"{root.Combine("native")}\" -B \"{nativeBuild}\" -DCMAKE_BUILD_TYPE=Release",
    });
    if (rc != 0) throw new Exception($"cmake configure failed ({rc}); install cmake and a C compiler (apt-get install cmake gcc zlib1g-dev)");
    rc = StartProcess("cmake", new ProcessSettings { Arguments = $"--build \"{nativeBuild}\" --config Release" });
    if (rc != 0) throw new Exception($"cmake build failed ({rc})");
});

Task("Deps")
    .Description("Installs the Debian packages the full test suite uses (zstd, qemu-system-x86), where it can.")
    .Does(() =>
{
    StartProcess("bash", new ProcessSettings { Arguments = $"\"{root.CombineWithFilePath("tests/install-deps.sh")}\"" });
});

Task("CheckAlloc")
    .Description("The allocation budget: fails if a zstd, native zlib, zero-check or engine path allocates per page.")
    .IsDependentOn("Native")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetRun("bench/Engine.Bench/Engine.Bench.csproj", new DotNetRunSettings {
        Configuration = configuration,
        NoBuild = true,
        ArgumentCustomization = args => args.Append("--").Append("--check-alloc"),
    });
});

Task("Sample")
    .Description("Builds samples/HostEmbedding against the packed library package and runs it (exit code 0: every migration exact).")
    .IsDependentOn("Pack")
    .Does(() =>
{
    // The sample restores from artifacts/packages into a cache of its own (its nuget.config): drop the cached Engine so the
    // package just packed is the one it runs against.
    CleanDirectory(artifacts.Combine("sample-packages"));
    int exit = StartProcess("dotnet", new ProcessSettings {
        Arguments = "run -c Release --project samples/HostEmbedding/HostEmbedding.csproj",
    });
    if (exit != 0)
    {
        throw new Exception($"samples/HostEmbedding failed (exit code {exit})");
    }
});

Task("Test")
    .Description("Runs every test, the allocation budget and the embedding sample; results (TRX) go to artifacts/test-results.")
    .IsDependentOn("Deps")
    .IsDependentOn("Build")
    .IsDependentOn("CheckAlloc")
    .IsDependentOn("Sample")
    .Does(() =>
{
    var results = artifacts.Combine("test-results");
    CleanDirectory(results);
    DotNetTest("Engine.sln", new DotNetTestSettings {
        Configuration = configuration,
        NoBuild = true,
        ResultsDirectory = results,
        Loggers = new[] { "trx", "console;verbosity=normal" },
        ArgumentCustomization = args => args.Append("--blame-hang").Append("--blame-hang-timeout").Append("10m"),
    });
});

Task("Bench")
    .Description("Runs the BenchmarkDotNet suite (use --filter=PATTERN to pick benchmarks).")
    .IsDependentOn("Native")
    .Does(() =>
{
    DotNetRun("bench/Engine.Bench/Engine.Bench.csproj", new DotNetRunSettings {
        Configuration = "Release",
        ArgumentCustomization = args => args.Append("--").Append("--filter").AppendQuoted(benchFilter),
    });
});

Task("Pack")
    .Description("Packs the library (VmPageEngine, with its .snupkg) and the engine tool (VmPageEngine.Tool) into artifacts/packages.")
    .Does(() =>
{
    foreach (var project in new[] { "src/Engine/Engine.csproj", "src/Engine.Cli/Engine.Cli.csproj" })
    {
        DotNetPack(project, new DotNetPackSettings {
            Configuration = configuration,
            OutputDirectory = artifacts.Combine("packages"),
        });
    }
});

Task("Publish")
    .Description("Publishes the engine command into artifacts/engine, what the benchmarks time: Native AOT (start-up in milliseconds, no runtime to load or code to compile), or ReadyToRun with --aot=false or where no C linker (clang or gcc) is installed.")
    .Does(() =>
{
    // Native AOT links with the system's C toolchain; the SDK alone cannot, so without one the command is published
    // ReadyToRun on the shared runtime instead (docs/PERFORMANCE.md, "The process around the migration").
    bool linker = new[] { "clang", "gcc" }.Any(cc => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator)
        .Any(dir => dir.Length > 0 && System.IO.File.Exists(System.IO.Path.Combine(dir, cc))));
    bool aot = aotArgument && linker;
    if (aotArgument && !linker)
    {
        Warning("No clang or gcc on PATH: publishing ReadyToRun instead of Native AOT.");
    }

    var settings = new DotNetPublishSettings {
        Configuration = "Release",
        Runtime = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier,
        SelfContained = aot,
        OutputDirectory = artifacts.Combine("engine"),
        MSBuildSettings = aot
            ? new DotNetMSBuildSettings().WithProperty("PublishAot", "true")
            : new DotNetMSBuildSettings().WithProperty("PublishReadyToRun", "true"),
    };
    CleanDirectory(artifacts.Combine("engine"));
    DotNetPublish("src/Engine.Cli/Engine.Cli.csproj", settings);
    Information(aot ? "Published Native AOT: artifacts/engine/engine" : "Published ReadyToRun: artifacts/engine/engine");
});

Task("Demo")
    .Description("Runs the main job: engine demo (pass other arguments with --demo-args).")
    .Does(() =>
{
    DotNetRun("src/Engine.Cli/Engine.Cli.csproj", new DotNetRunSettings {
        Configuration = "Release",
        ArgumentCustomization = args => args.Append("--").Append(string.IsNullOrWhiteSpace(demoArgs) ? "demo" : demoArgs),
    });
});

Task("Default").IsDependentOn("Build");

RunTarget(target);
