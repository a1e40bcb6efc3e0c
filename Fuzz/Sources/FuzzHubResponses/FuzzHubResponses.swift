import Foundation
import FuzzDriver
@_spi(Fuzzing) import ShardPlanHub

/// One libFuzzer input: a Hub repository's answers (config.json, index, a shard's
/// first 8 bytes, its header, the Content-Range total, split at `\n--\n`) read
/// by the Hub client through a fake transport, as it would read the network's.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  HubFuzzEntryPoints.responses(Data(bytes: data, count: size))
  return 0
}

/// The executable's entry point: hands control to libFuzzer's driver.
@_cdecl("FuzzHubResponses_main")
public func fuzzMain(
  _ argc: CInt,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  runLibFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
