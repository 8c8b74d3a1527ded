namespace Engine.Threading;

/// <summary>
/// What a <see cref="ThreadParker"/> waits for. Implemented by structs so that waiting is generic over the condition
/// and allocates nothing (no delegate, no closure).
/// </summary>
internal interface IWaitCondition
{
    /// <summary>True when the wait is over. Called repeatedly; must be cheap and must not block.</summary>
    bool IsSatisfied();
}
