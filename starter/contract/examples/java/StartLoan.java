import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.SearchAttributeKey;
import io.temporal.common.SearchAttributes;
import io.temporal.common.converter.CodecDataConverter;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/**
 * Start a loan from one of the contract's examples (a {"request": LoanRequest} document, see
 * caller/LoanStart.json), read its state, and sign it when it waits for the signature. The same
 * calls as the `temporal` CLI invocation tests/starter/contract/test_examples.py runs.
 */
public final class StartLoan {
  public static void main(String[] args) throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode input = json.readTree(Path.of(args.length > 0 ? args[0] : "examples/new_credit.json").toFile());
    JsonNode request = input.get("request");

    WorkflowServiceStubs service =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder().setTarget("127.0.0.1:7233").build());
    RemoteCodec codec =
        new RemoteCodec(URI.create("http://127.0.0.1:8092"), System.getenv("CODEC_SERVER_TOKEN"));
    WorkflowClient client =
        WorkflowClient.newInstance(
            service,
            WorkflowClientOptions.newBuilder()
                .setNamespace("default")
                .setDataConverter(
                    new CodecDataConverter(DefaultDataConverter.newDefaultInstance(), List.of(codec)))
                .build());

    WorkflowStub loan =
        client.newUntypedWorkflowStub(
            "LoanWorkflow",
            WorkflowOptions.newBuilder()
                .setWorkflowId("loan-" + request.get("request_key").asText())
                .setTaskQueue("consignado-loans")
                .setWorkflowIdReusePolicy(
                    WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
                .setTypedSearchAttributes(
                    SearchAttributes.newBuilder()
                        .set(
                            SearchAttributeKey.forKeyword("LoanProduct"),
                            request.path("product").asText("new_credit"))
                        .build())
                .build());
    WorkflowExecution started = loan.start(input); // no rules: the worker pins its own
    System.out.println("started " + started.getWorkflowId());

    JsonNode state = loan.query("state", JsonNode.class);
    if (state.get("stage").asText().equals("awaiting_signature")) {
      JsonNode signature = json.readTree(Path.of("signature.json").toFile()); // SignatureSubmission
      state = loan.update("submit_signature", JsonNode.class, signature);
    }
    System.out.println(state.get("stage").asText() + " " + state.get("status").asText());
  }
}
