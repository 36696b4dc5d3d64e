import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.Payloads;
import io.temporal.payload.codec.PayloadCodec;
import io.temporal.payload.codec.PayloadCodecException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

/**
 * The loan's payloads are encrypted: encode and decode them through the codec server (Temporal's
 * codec protocol: a Payloads message as protobuf JSON, POSTed to /encode and /decode with a bearer
 * token). The Java SDK has no remote codec built in; this is the whole of one.
 */
public final class RemoteCodec implements PayloadCodec {
  private final HttpClient http = HttpClient.newHttpClient();
  private final URI endpoint;
  private final String token;

  public RemoteCodec(URI endpoint, String token) {
    this.endpoint = endpoint;
    this.token = token;
  }

  @Override
  public List<Payload> encode(List<Payload> payloads) {
    return call("/encode", payloads);
  }

  @Override
  public List<Payload> decode(List<Payload> payloads) {
    return call("/decode", payloads);
  }

  private List<Payload> call(String path, List<Payload> payloads) {
    try {
      String body = JsonFormat.printer().print(Payloads.newBuilder().addAllPayloads(payloads).build());
      HttpRequest request =
          HttpRequest.newBuilder(endpoint.resolve(path))
              .header("Content-Type", "application/json")
              .header("Authorization", "Bearer " + token)
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new PayloadCodecException("codec server answered " + response.statusCode());
      }
      Payloads.Builder answer = Payloads.newBuilder();
      JsonFormat.parser().merge(response.body(), answer);
      return answer.getPayloadsList();
    } catch (InvalidProtocolBufferException e) {
      throw new PayloadCodecException(e);
    } catch (IOException e) {
      throw new PayloadCodecException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PayloadCodecException(e);
    }
  }
}
