"""The ``ses`` transport: Amazon SES v2 ``SendEmail`` with the raw MIME message.

boto3 is an optional extra (``pip install 'syndicate[ses]'``), imported only when this
transport is used. botocore's own retries are switched off: it retries a request whose answer
timed out, which for ``SendEmail`` can send the message twice. The send run retries instead,
through the ledger, and a lost answer is recorded as an uncertain outcome.
Credentials come from the usual AWS variables, profiles or instance roles, never from config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import (
    Claim,
    ConnectionLost,
    PermanentFailure,
    PooledTransport,
    TemporaryFailure,
    TransportDown,
    UncertainDelivery,
    claimed_or_stop,
)

if TYPE_CHECKING:
    from ...config import SesConfig

THROTTLED = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
    }
)
STOP = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
    }
)


@dataclass(frozen=True, slots=True)
class SesSettings:
    """Where and how to call SES."""

    region: str
    endpoint_url: str
    configuration_set: str
    timeout: float = 30.0


def _boto3() -> Any:
    try:
        import boto3  # optional extra: only SES needs it
    except ImportError:
        raise TransportDown("the ses transport needs boto3: pip install 'syndicate[ses]'") from None
    return boto3


class SesSession:
    """One SES client (boto3 clients are not shared between threads here)."""

    def __init__(self, settings: SesSettings) -> None:
        from botocore.config import Config as BotoConfig  # optional extra: only SES needs it

        boto3 = _boto3()
        self._settings = settings
        self._client = boto3.session.Session().client(
            "sesv2",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url or None,
            config=BotoConfig(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=settings.timeout,
                read_timeout=settings.timeout,
            ),
        )

    def prepare(self) -> None:
        """HTTPS connections are made (and kept) by botocore on demand: nothing to do."""

    def send(self, sender: str, recipient: str, message: bytes, *, claim: Claim) -> str:
        """One ``SendEmail`` call; returns SES's MessageId."""
        from botocore import exceptions as boto  # optional extra: only SES needs it

        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": message}},
        }
        if self._settings.configuration_set:
            request["ConfigurationSetName"] = self._settings.configuration_set
        claimed_or_stop(claim)
        try:
            answer = self._client.send_email(**request)
        except boto.ClientError as exc:
            raise _classify(exc, sender) from None
        except (boto.NoCredentialsError, boto.PartialCredentialsError) as exc:
            raise TransportDown(f"SES: no AWS credentials: {exc}") from None
        except boto.EndpointConnectionError as exc:
            raise ConnectionLost(f"SES: cannot connect: {exc}") from None
        except (boto.ReadTimeoutError, boto.ConnectionClosedError) as exc:
            raise UncertainDelivery(f"SES: no answer to SendEmail: {exc}") from None
        except (boto.ConnectTimeoutError, boto.BotoCoreError) as exc:
            raise ConnectionLost(f"SES: {exc}") from None
        return str(answer.get("MessageId", ""))

    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._client.close()


def _classify(exc: Any, sender: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    text = f"SES {code}: {error.get('Message', '')}".strip()
    if code in THROTTLED:
        return TemporaryFailure(text)
    if code in STOP:
        return TransportDown(text)
    if code == "MessageRejected" and (
        "authority to send from" in text or sender.lower() in text.lower()
    ):
        return TransportDown(f"{text}; verify the sender identity in SES (or check [email] from)")
    return PermanentFailure(text, bounce=False)


class SesTransport(PooledTransport[SesSettings]):
    """SES v2; ``sessions`` clients in parallel, ``rate`` messages per second at most."""

    name = "ses"

    @classmethod
    def from_config(cls, ses: SesConfig) -> SesTransport:
        """Built from ``[email.ses]``; boto3 is checked for at once."""
        _boto3()
        settings = SesSettings(
            region=ses.region,
            endpoint_url=ses.endpoint_url,
            configuration_set=ses.configuration_set,
            timeout=ses.timeout,
        )
        return cls(
            settings,
            sessions=ses.connections,
            rate=ses.rate,
        )

    def open(self) -> SesSession:
        """A new client."""
        return SesSession(self.settings)
