import FuzzDriver
@_spi(Fuzzing) import ShardPlan

/// One libFuzzer input: the bytes go to every text reader in turn (layout files too). A reader may
/// throw InputError on any input; it must never crash, hang or grow without bound.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  FuzzEntryPoints.topologyText(text)
  return 0
}

/// The executable's entry point: hands control to libFuzzer's driver.
@_cdecl("FuzzTopologyReaders_main")
public func fuzzMain(
  _ argc: CInt,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  runLibFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
