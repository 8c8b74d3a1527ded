namespace Engine.Fuzz;

/// <summary>
/// A check of the harness failed: the code under test broke a promise without throwing (wrote outside its page, handed a
/// sink an unvalidated offset...). Deliberately not a <c>MigrationStreamException</c>, so AFL records it as a crash.
/// </summary>
internal sealed class FuzzContractException(string message) : Exception(message);
