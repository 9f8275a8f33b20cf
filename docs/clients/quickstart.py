"""The README's quick start through a client that openapi-python-client generated from
openapi.yaml (as `cargo xtask clients` generates it: into target/clients/python, the package
`botwire_api_client`). Usage: python quickstart.py BASE_URL HOOK_URL

It stops at the first unexpected answer, printing it, and exits non-zero.
"""

import sys
import time

from botwire_api_client import AuthenticatedClient, Client
from botwire_api_client.api.accounts import account_register
from botwire_api_client.api.bots import bot_create
from botwire_api_client.api.chat import chat_send, session_history
from botwire_api_client.api.credentials import api_key_create
from botwire_api_client.api.knowledge_base import document_create
from botwire_api_client.api.webhooks import webhook_create
from botwire_api_client.models import (
    AccountRegister,
    ApiKeyCreate,
    BotCreate,
    ChatSend,
    DocumentCreateBody,
    DocumentCreateBodyMetadata,
    WebhookCreate,
    WebhookEventType,
)
from botwire_api_client.types import File


def expect(response, status):
    """The parsed body of an answer with `status`, else the answer printed and exit 1."""
    if response.status_code != status:
        sys.exit(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


def main(base_url, hook_url):
    public = Client(base_url=base_url, raise_on_unexpected_status=True)
    # 1. An account and an API key for your backend (the key is shown this once).
    email = f"python-{time.time_ns()}@example.com"
    session = expect(
        account_register.sync_detailed(
            client=public,
            body=AccountRegister(email=email, name="Python", password="a long passphrase"),
        ),
        201,
    )
    user = AuthenticatedClient(base_url=base_url, token=session.token)
    key = expect(api_key_create.sync_detailed(client=user, body=ApiKeyCreate(name="backend")), 201)
    backend = AuthenticatedClient(base_url=base_url, token=key.key)

    # 2. A bot, and an FAQ it answers from.
    bot = expect(bot_create.sync_detailed(client=backend, body=BotCreate(name="Support")), 201)
    faq = b'question,answer\n"What are your opening hours?","We are open 9 to 5, Monday to Friday."\n'
    document = expect(
        document_create.sync_detailed(
            bot.id,
            client=backend,
            body=DocumentCreateBody(
                file=File(payload=faq, file_name="faq.csv", mime_type="text/csv"),
                metadata=DocumentCreateBodyMetadata(title="FAQ"),
            ),
        ),
        201,
    )
    print(f"document {document.title}: {document.status}")

    # 3. A webhook (its signing secret is shown this once).
    hook = expect(
        webhook_create.sync_detailed(
            bot.id,
            client=backend,
            body=WebhookCreate(url=hook_url, events=[WebhookEventType.MESSAGE_RECEIVED]),
        ),
        201,
    )
    assert hook.secret.startswith("whsec_"), hook.secret

    # 4. Chat, and the session's history.
    reply = expect(
        chat_send.sync_detailed(
            client=backend,
            body=ChatSend(bot_id=bot.id, session_id="user-1", message="When are you open?"),
        ),
        200,
    )
    print(f"reply: {reply.reply}")
    assert "9 to 5" in (reply.reply or ""), reply
    history = expect(session_history.sync_detailed(bot.id, "user-1", client=backend), 200)
    roles = [message.role.value for message in history.data]
    assert roles == ["user", "assistant"], roles
    print("python client: quick start passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
