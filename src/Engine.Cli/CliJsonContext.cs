using System.Text.Json.Serialization;
using Engine.Tools;

namespace Engine.Cli;

/// <summary>
/// The types the command serializes whole, with their serializers generated at build time: the command is published
/// Native AOT, where the reflection-based serializer is not there. <c>inspect --json</c> writes camelCase names, indented.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StreamSummary))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
}
