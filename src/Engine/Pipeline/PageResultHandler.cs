namespace Engine.Pipeline;

/// <summary>Receives one result of a <see cref="CompressionEngine"/>; its bytes are valid until the handler returns.</summary>
internal delegate void PageResultHandler(in PageResult result);
